// sps_tb_pause.v -- testbench only: a seeded random stall generator for one stream of the
// memory-backed transport (tb/hdl/sps_tb.v). A two-state Markov chain drawn from a 32-bit xorshift:
// running -> paused with probability ENTER/65536 per cycle, paused -> running with LEAVE/65536.
//   Bernoulli p (every cycle independent): ENTER = p*65536, LEAVE = (1-p)*65536
//   bursts of mean length L cycles:          LEAVE = 65536/L, ENTER sets how often they come
//   never:                                   ENTER = 0 (pause stays low)
// SEED is loaded while `load` is high (a zero seed is replaced: xorshift would stay at 0); reset
// leaves it running (not paused) on a fixed seed until the first load.
`default_nettype none
module sps_tb_pause (
    input  wire        clk,
    input  wire        rst,
    input  wire        load,
    input  wire [31:0] seed,
    input  wire [16:0] enter,       // 0..65536
    input  wire [16:0] leave,       // 0..65536
    output reg         pause
);
    reg  [31:0] s;
    wire [31:0] s1 = s  ^ (s  << 13);
    wire [31:0] s2 = s1 ^ (s1 >> 17);
    wire [31:0] s3 = s2 ^ (s2 << 5);
    wire [16:0] r  = {1'b0, s[31:16]};

    always @(posedge clk) begin
        if (rst || load) begin
            s <= (rst || seed == 32'd0) ? 32'h9e3779b9 : seed;
            pause <= 1'b0;
        end else begin
            s <= s3;
            pause <= pause ? !(r < leave) : (r < enter);
        end
    end
endmodule
`default_nettype wire
