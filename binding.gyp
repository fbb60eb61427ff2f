{
  "targets": [
    {
      "target_name": "reaper",
      "sources": ["native/reaper.c", "native/relay.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
