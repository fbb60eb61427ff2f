{
  "targets": [
    {
      "target_name": "reaper",
      "sources": ["native/reaper.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
