"""The AXI4-Lite masters of the top-level environment (tb.env.top), one per transport, with the same
interface (`write(addr, value)`, `read(addr)`; a response other than OKAY fails): `LiteMaster`, a lean
driver for the "mem" transport, and `ExtLiteMaster`, cocotbext-axi's master for the "axi" one."""
from __future__ import annotations

from cocotb.triggers import FallingEdge, ReadOnly


class LiteMaster:
    """A lean AXI4-Lite master: one transaction at a time, awaiting clock edges only while one is
    in flight (cocotbext-axi's master samples its five channels every cycle). Inputs change at the
    falling edge; a handshake is seen in the settled values after it (ReadOnly) and takes place at
    the next rising edge: no sampling right after the rising edge, whose values differ between
    simulators when the clock is generated in the HDL."""

    def __init__(self, dut):
        self.dut, self.clk = dut, dut.clk
        for name in ("awvalid", "wvalid", "bready", "arvalid", "rready", "awaddr", "araddr", "wdata",
                     "awprot", "arprot"):
            getattr(dut, f"s_axil_{name}").value = 0
        dut.s_axil_wstrb.value = 0xF

    async def write(self, addr: int, value: int) -> None:
        d = self.dut
        await FallingEdge(self.clk)
        d.s_axil_awaddr.value, d.s_axil_awvalid.value = addr, 1
        d.s_axil_wdata.value, d.s_axil_wvalid.value = value & 0xFFFFFFFF, 1
        d.s_axil_bready.value = 1
        await self._handshake("aw", "w")
        (resp,) = await self._response("b", "resp")
        if resp != 0:
            raise AssertionError(f"AXI4-Lite write {addr:#05x}: BRESP {resp}")

    async def read(self, addr: int) -> int:
        d = self.dut
        await FallingEdge(self.clk)
        d.s_axil_araddr.value, d.s_axil_arvalid.value, d.s_axil_rready.value = addr, 1, 1
        await self._handshake("ar")
        resp, data = await self._response("r", "resp", "data")
        if resp != 0:
            raise AssertionError(f"AXI4-Lite read {addr:#05x}: RRESP {resp}")
        return data

    async def _handshake(self, *channels: str) -> None:
        """Hold VALID of each request channel ("aw", "w", "ar") until it is taken, then drop it."""
        pending = set(channels)
        while pending:
            await ReadOnly()
            taken = {c for c in pending if getattr(self.dut, f"s_axil_{c}ready").value}
            await FallingEdge(self.clk)
            for c in taken:
                getattr(self.dut, f"s_axil_{c}valid").value = 0
            pending -= taken

    async def _response(self, channel: str, *fields: str) -> list[int]:
        """Wait for the response channel ("b", "r", READY already high) to be valid; its `fields`,
        read as it is taken, and READY dropped."""
        d = self.dut
        while True:
            await ReadOnly()
            if getattr(d, f"s_axil_{channel}valid").value:
                values = [int(getattr(d, f"s_axil_{channel}{f}").value) for f in fields]
                await FallingEdge(self.clk)
                getattr(d, f"s_axil_{channel}ready").value = 0
                return values
            await FallingEdge(self.clk)


class ExtLiteMaster:
    """cocotbext-axi's AXI4-Lite master behind LiteMaster's interface."""

    def __init__(self, dut):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster
        self.m = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk_in, dut.rst)
        self.m.write_if.log.setLevel("WARNING")
        self.m.read_if.log.setLevel("WARNING")

    async def write(self, addr: int, value: int) -> None:
        r = await self.m.write(addr, int(value & 0xFFFFFFFF).to_bytes(4, "little"))
        if int(r.resp) != 0:
            raise AssertionError(f"AXI4-Lite write {addr:#05x}: BRESP {int(r.resp)}")

    async def read(self, addr: int) -> int:
        r = await self.m.read(addr, 4)
        if int(r.resp) != 0:
            raise AssertionError(f"AXI4-Lite read {addr:#05x}: RRESP {int(r.resp)}")
        return int.from_bytes(r.data, "little")
