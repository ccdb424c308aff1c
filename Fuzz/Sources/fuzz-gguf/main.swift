import FuzzDriver
import FuzzTargets

runLibFuzzer(FuzzTargets.checkpoint)
