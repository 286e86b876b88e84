#!/usr/bin/env python3
"""Runs the PyPI `cicflowmeter` on a capture file: reference.py PCAP OUT.csv

Its command line (0.2.0 with scapy 2.8) never flushes its flows, so its
FlowSession is driven here directly: every packet, then a final collection.
"""
import sys

from cicflowmeter.flow_session import FlowSession
from scapy.utils import PcapReader

FlowSession.output_mode = "csv"
FlowSession.output = sys.argv[2]
session = FlowSession()
for packet in PcapReader(sys.argv[1]):
    session.on_packet_received(packet)
session.garbage_collect(None)
del session.output_writer
