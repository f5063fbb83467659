"""HTTP+JSON gateway for envoy-grpc, driven by the google.api.http annotations in the proto."""
