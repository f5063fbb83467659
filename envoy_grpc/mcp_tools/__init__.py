"""The MCP server (`envoy-grpc mcp`): a few sharp tools that let coding agents coordinate."""
