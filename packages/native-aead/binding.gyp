{
  "targets": [
    {
      "target_name": "hopsafe_aead",
      "sources": ["src/aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-fvisibility=hidden"] }
    }
  ]
}
