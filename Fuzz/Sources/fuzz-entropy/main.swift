import FuzzDriver
import FuzzTargets

runLibFuzzer(FuzzTargets.entropyDecoder)
