{
  "targets": [
    {
      "target_name": "reaper",
      "sources": ["native/reaper.c", "native/relay.c"],
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
