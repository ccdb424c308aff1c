import FuzzDriver
import FuzzTargets

runLibFuzzer(FuzzTargets.shardIndex)
