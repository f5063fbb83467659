from envoy_grpc.cli import main

main()
