"""SPS compiler: PPS conv layers -> layer programs (registers, weight/activation streams).

Modules, in dependency order (docs/ARCHITECTURE.md is the hardware/compiler contract):
  paths     ROOT, CONFIG, RTL                   where the repository and its config/ and rtl/ are
  config    ArrayConfig, load_config            the parameter source config/sps.json
  regs      register addresses (5.1), HEADER_BEATS (5.3)
  layer     QLayer, Requant, check_input        a quantised 3x3 conv layer, validated
  infer     infer_pps, cover_pps, check_pps,    a regular PPS from the weights' zero pattern,
            resolve_pps, pps_from_spec          the cheapest cover, or a given PPS checked
  walker    tile_plan, tile_arrays              the indexing-unit walker rule (section 3)
  grouping  group_filters, group_tiles          phase groups and their row tiles (section 4)
  bands     plan_bands, band_input_rows         bands of output rows that fit the buffers (5)
  streams   activation_stream, weight_stream,   stream and register encoding (5.1-5.3)
            header_beats, band_registers
  program   LayerProgram, Band                  the program type; unpack_results (5.5)
  perf      predict_cycles                      cycle model (equals the RTL counters, no stalls)
  compile   compile_layer                       the compile driver
  progfile  save_program, load_program          the program file (5.6)
  funcmodel run_program, run_layer_model        functional model of the dataflow
  storage   storage_report, format_storage_table  SPS against dense, CSR, CSC, COO, bitmap, RLE
  energy    load_energy_table, layer_counts,    energy per action x action counts (counters or the
            network_energy                      cycle model): PPS vs dense mode, weight fetch by format
  show      weight_segments, act_beat, res_beat a program in words
  network   NetProgram                          whole networks: array stages and host stages
No module imports torch. The command line is `sps` (package sps/): sps compile, sps show, ...
"""
