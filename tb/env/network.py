"""cocotb module (run by tb.env.host.run_network_on_rtl) that runs a whole quantised network on
sps_top: every 3x3 conv layer on the DUT (through the compiler's programs), the host layers in
between by compiler.network.

Environment: SPS_QNET (models.qnet file), SPS_IMAGES (.npz, "x": int8 [N, C, H, W]), SPS_BATCH
(images per network run, default 1, dividing N: compiler.network's batching), SPS_RESULT (.npz
written here: per image every array layer's output and the logits; "stats" JSON with the hardware
counters per image and layer -- with a batch, a batch's counters summed over its program runs and
divided by its images: the average per image -- and per layer in dense mode, likewise per image),
SPS_DENSE=1 to also run every array layer once in dense mode (P=1, same weights, the first
images' input, as many images per program as the layer's), SPS_STALL, SPS_SEED, SPS_PROGRESS (a
file rewritten with the number of array layer runs done), SPS_CFG (the array). The checking is
done by the caller (tb.env.host) against the integer reference models.qnet.run_reference.
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
    """All bands of one layer program on the DUT: (int8/int32 output [F, Hout, Wout], or
    [batch, F, Hout, Wout], counters summed)."""
    y, stats = await env.run_program(prog)
    return y, sum_counters(stats)


def per_image(runs: list[dict], images: int) -> dict:
    """Counters of the program runs of a layer over `images` images -> the average per image
    (the runs' values themselves for one run of one image)."""
    tot = {k: sum(r[k] for r in runs) for k in runs[0]}
    return tot if images == 1 else {k: v / images for k, v in tot.items()}


@cocotb.test()
async def run_network(dut):
    meter = SimMeter()
    cfg = env_config()
    qnet = QNet.load(os.environ["SPS_QNET"])
    with np.load(os.environ["SPS_IMAGES"]) as z:
        images = np.asarray(z["x"])
    progress = Path(os.environ["SPS_PROGRESS"]) if os.environ.get("SPS_PROGRESS") else None
    B = int(os.environ.get("SPS_BATCH", "1"))
    net = NetProgram(qnet, cfg, batch=B)
    env = SpsEnv(dut, cfg, seed=int(os.environ.get("SPS_SEED", "0")),
                 stall=json.loads(os.environ.get("SPS_STALL", "0")))
    await env.reset()
    await env.check_config()
    out, image_counters, first = {}, [], {}
    done = 0                                  # array layer runs finished (for the progress bar)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress.write_text(str(done))
    for i0 in range(0, len(images), B):
        runs = {}
        gen = net.schedule(images[i0:i0 + B] if B > 1 else images[i0])
        y = None
        try:
            while True:
                st, prog = gen.send(y)
                y, c = await run_layer(env, prog)
                runs.setdefault(st.name, []).append(c)
                tick()
        except StopIteration as stop:
            tensors = stop.value if B > 1 else {k: v[None] for k, v in stop.value.items()}
        counters = {name: per_image(r, B) for name, r in runs.items()}
        if i0 == 0:
            first = tensors
        for k in range(B):
            for st in net.array_stages:
                out[f"{i0 + k}/{st.out}"] = tensors[st.out][k]
            out[f"{i0 + k}/logits"] = tensors["logits"][k]
            image_counters.append(counters)
            dut._log.info(f"image {i0 + k + 1}/{len(images)}: class {int(np.argmax(tensors['logits'][k]))}, "
                          f"{sum(c['cycles'] for c in counters.values()):.0f} array cycles"
                          + (f" (average over a batch of {B})" if B > 1 else ""))
    dense = {}
    if os.environ.get("SPS_DENSE") == "1" and len(images):
        for st in net.array_stages:
            if st.kind == "conv1x1":               # its own dense baseline: the counters of image 0
                dense[st.name] = image_counters[0][st.name]
                continue
            b = st.prog.batch
            x = first[st.inputs[0]][:b]
            prog = net.dense_program(st).set_input(x if b > 1 else x[0])
            y, c = await run_layer(env, prog)
            dense[st.name] = per_image([c], b)
            tick()
            y = y if b > 1 else y[None]
            for k in range(b):
                assert np.array_equal(y[k], out[f"{k}/{st.out}"]), f"layer {st.name}: dense mode differs from PPS mode"
            dut._log.info(f"dense mode {st.name}: {dense[st.name]['cycles']} cycles")
    np.savez(os.environ["SPS_RESULT"], stats=np.array(json.dumps({"images": image_counters, "dense": dense})),
             sim=np.array(json.dumps(meter.figures())), **out)
