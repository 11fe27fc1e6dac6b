"""SPS compiler: PPS conv layers -> layer programs (registers, weight/activation streams).

Modules (docs/ARCHITECTURE.md is the hardware/compiler contract):
  config    ArrayConfig, load_config            the parameter source config/sps.json
  layer     QLayer, Requant, check_input        a quantised 3x3 conv layer, validated
  infer     infer_pps, cover_pps, check_pps,    a regular PPS from the weights' zero pattern,
            resolve_pps, pps_from_spec          the cheapest cover, or a given PPS checked
  walker    tile_plan                           the indexing-unit walker rule (section 3)
  regs      register addresses (section 5.1), HEADER_BEATS (5.3)
  program   compile_layer, LayerProgram, activation_stream, weight_stream, unpack_results
  funcmodel run_program, run_layer_model        functional model of the dataflow
  perf      predict_cycles, dense_equivalent    cycle model (equals the RTL counters, no stalls)
  storage   storage_report, format_storage_table, storage_ratios
  show      weight_segments, act_beat, res_beat a program file in words (python -m compiler.show)
CLI: python -m compiler --help; python -m compiler.storage (VGG-16 storage table);
     python -m compiler.config (parameters, RTL header)
"""
