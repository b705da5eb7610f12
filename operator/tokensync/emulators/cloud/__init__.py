"""A local Alibaba Cloud (EIAM, IMS, STS) that checks signatures like the real service.

See docs/cloud-emulator.md.
"""

from tokensync.emulators.cloud.emulator import CloudEmulator
from tokensync.emulators.cloud.faults import Fault
from tokensync.emulators.cloud.server import running_cloud_emulator, serve_forever
from tokensync.emulators.cloud.state import EmulatorState, demo_state, load_state, parse_state

__all__ = [
    "CloudEmulator",
    "EmulatorState",
    "Fault",
    "demo_state",
    "load_state",
    "parse_state",
    "running_cloud_emulator",
    "serve_forever",
]
