// sps_tb_axis_check.v -- testbench only: protocol checker for one valid/ready channel (an
// AXI4-Stream, or one channel of AXI4-Lite) of sps_tb. After reset it flags the first cycle in
// which
//   kind 1: VALID fell while a transfer was offered and not taken (TVALID must stay until TREADY),
//   kind 2: the payload (data and last) changed while a transfer was offered and not taken,
//   kind 3: VALID or READY was X or Z (4-state simulators only; Verilator has no X here).
// `err` stays set with `err_kind` and `err_cycle` (cycles since reset) of the first violation.
// `restart` high in the cycle before an edge allows a transfer on offer to be withdrawn after it:
// a stream restarted by its source (a testbench memory load) or reset by the design (sps_top's
// soft abort resets the data path, as its reset does).
`default_nettype none
module sps_tb_axis_check #(
    parameter W = 8     // payload bits (TDATA and TLAST) held while TVALID waits
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          restart,
    input  wire [31:0]   cycle,
    input  wire          valid,
    input  wire          ready,
    input  wire [W-1:0]  payload,
    output reg           err,
    output reg  [1:0]    err_kind,
    output reg  [31:0]   err_cycle
);
    reg         held;                   // a transfer was offered and not taken at the last edge
    reg [W-1:0] held_payload;

    always @(posedge clk) begin
        if (rst) begin
            held <= 1'b0; err <= 1'b0; err_kind <= 2'd0; err_cycle <= 32'd0;
        end else begin
            if (!err) begin
                if ((valid !== 1'b0 && valid !== 1'b1) || (ready !== 1'b0 && ready !== 1'b1)) begin
                    err <= 1'b1; err_kind <= 2'd3; err_cycle <= cycle;
                end else if (held && !valid) begin
                    err <= 1'b1; err_kind <= 2'd1; err_cycle <= cycle;
                end else if (held && payload !== held_payload) begin
                    err <= 1'b1; err_kind <= 2'd2; err_cycle <= cycle;
                end
            end
            held <= !restart && (valid === 1'b1) && (ready !== 1'b1);
            held_payload <= payload;
        end
    end
endmodule
`default_nettype wire
