import ToolSupport

ToolRunner.main(FloraTrain.self)
