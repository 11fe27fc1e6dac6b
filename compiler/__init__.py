"""SPS compiler: PPS conv layers -> layer programs (registers, weight/activation streams)."""
