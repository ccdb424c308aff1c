import ToolSupport

ToolRunner.main(GingerOpt.self)
