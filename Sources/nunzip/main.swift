import NZTool
import ToolSupport

ToolRunner.main(NUnzipCommand.self)
