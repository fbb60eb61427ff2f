{
  "targets": [
    {
      "target_name": "nile_native",
      "sources": ["native/nile_native.c", "native/relay.c"],
      "cflags": ["-O2", "-Wall"]
    },
    {
      "target_name": "nile",
      "type": "executable",
      "sources": ["native/nile.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
