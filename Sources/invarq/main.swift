import ToolSupport

ToolRunner.main(InvarQ.self)
