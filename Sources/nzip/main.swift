import NZTool

NZipCommand.main(arguments: Array(CommandLine.arguments.dropFirst()))
