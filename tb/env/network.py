"""cocotb module (run by tb.env.host.run_network_on_rtl) that runs a whole quantised network on
sps_top: every 3x3 conv layer on the DUT (through the compiler's programs), the host layers in
between by compiler.network.

Environment: SPS_QNET (models.qnet file), SPS_IMAGES (.npz, "x": int8 [N, C, H, W]), SPS_RESULT
(.npz written here: per image every array layer's output and the logits; "stats" JSON with the
hardware counters per image and layer, and per layer in dense mode), SPS_DENSE=1 to also run every
array layer once in dense mode (P=1, same weights, first image's input), SPS_STALL, SPS_SEED,
SPS_PROGRESS (a file rewritten with the number of array layer runs done), SPS_CFG (the array). The
checking is done by the caller (tb.env.host) against the integer reference models.qnet.run_reference.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import cocotb

from compiler.network import NetProgram
from models.qnet import QNet
from tb.env.meter import SimMeter
from tb.env.top import SpsEnv, env_config, sum_counters


async def run_layer(env: SpsEnv, prog) -> tuple[np.ndarray, dict]:
    """All bands of one layer program on the DUT: (int8/int32 output [F, Hout, Wout], counters summed)."""
    y, stats = await env.run_program(prog)
    return y, sum_counters(stats)


@cocotb.test()
async def run_network(dut):
    meter = SimMeter()
    cfg = env_config()
    qnet = QNet.load(os.environ["SPS_QNET"])
    with np.load(os.environ["SPS_IMAGES"]) as z:
        images = np.asarray(z["x"])
    progress = Path(os.environ["SPS_PROGRESS"]) if os.environ.get("SPS_PROGRESS") else None
    net = NetProgram(qnet, cfg)
    env = SpsEnv(dut, cfg, seed=int(os.environ.get("SPS_SEED", "0")),
                 stall=json.loads(os.environ.get("SPS_STALL", "0")))
    await env.reset()
    await env.check_config()
    out, per_image, first = {}, [], {}
    done = 0                                  # array layer runs finished (for the progress bar)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress.write_text(str(done))
    for i, x in enumerate(images):
        counters = {}
        gen = net.schedule(x)
        y = None
        try:
            while True:
                st, prog = gen.send(y)
                y, counters[st.name] = await run_layer(env, prog)
                tick()
        except StopIteration as stop:
            tensors = stop.value
        if i == 0:
            first = tensors
        for st in net.array_stages:
            out[f"{i}/{st.out}"] = tensors[st.out]
        out[f"{i}/logits"] = tensors["logits"]
        per_image.append(counters)
        dut._log.info(f"image {i + 1}/{len(images)}: class {int(np.argmax(tensors['logits']))}, "
                      f"{sum(c['cycles'] for c in counters.values())} array cycles")
    dense = {}
    if os.environ.get("SPS_DENSE") == "1" and len(images):
        for st in net.array_stages:
            if st.kind == "conv1x1":               # its own dense baseline: the counters of image 0
                dense[st.name] = per_image[0][st.name]
                continue
            prog = net.dense_program(st).set_input(first[st.inputs[0]])
            y, dense[st.name] = await run_layer(env, prog)
            tick()
            assert np.array_equal(y, out[f"0/{st.out}"]), f"layer {st.name}: dense mode differs from PPS mode"
            dut._log.info(f"dense mode {st.name}: {dense[st.name]['cycles']} cycles")
    np.savez(os.environ["SPS_RESULT"], stats=np.array(json.dumps({"images": per_image, "dense": dense})),
             sim=np.array(json.dumps(meter.figures())), **out)
