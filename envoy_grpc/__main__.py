from envoy_grpc.entry import main

main()
