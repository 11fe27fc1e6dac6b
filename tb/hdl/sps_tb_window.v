// sps_tb_window.v -- testbench only: dump the waves of a window of cycles, for `sps debug`'s small
// FST around a divergence. Compiled and instantiated only in the window build (tb/hdl/sps_tb.v
// under `ifdef SPS_WAVE_WINDOW, tb.env.runner with SPS_WAVE_WINDOW=1; Verilator builds it with
// --trace-fst, Icarus runs it with -fst): no other build traces anything. From cycle
// +sps_wave_from=N (since reset; the cycle counter of sps_tb) every signal of sps_tb goes to
// +sps_wave_file=PATH; at cycle +sps_wave_to=M the dump is flushed and the simulation ends
// (Verilator 5 takes $dumpoff for a no-op: ending the run is what ends its dump).
`default_nettype none
module sps_tb_window (
    input wire        clk,
    input wire        rst,
    input wire [31:0] cycle
);
    reg [1023:0] path;
    integer from, to;
    reg started;
    initial begin
        if (!$value$plusargs("sps_wave_file=%s", path)) path = "sps_window.fst";
        if (!$value$plusargs("sps_wave_from=%d", from)) from = 0;
        if (!$value$plusargs("sps_wave_to=%d", to)) to = 32'h7fffffff;
        started = 1'b0;
    end
    always @(posedge clk) begin
        if (!rst && !started && cycle >= from) begin
            started <= 1'b1;
            $dumpfile(path);
            $dumpvars(0, sps_tb);
        end
        if (!rst && started && cycle >= to) begin
            $dumpflush;
            $finish;
        end
    end
endmodule
`default_nettype wire
