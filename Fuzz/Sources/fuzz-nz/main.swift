import FuzzDriver
import FuzzTargets

runLibFuzzer(FuzzTargets.nz)
