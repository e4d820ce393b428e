"""Switchboard event contracts (generated protobuf code lives in v1/)."""
