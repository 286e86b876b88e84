#!/usr/bin/env python3
"""Feature-by-feature agreement between `rampart flows extract` and the
PyPI cicflowmeter on the same capture.

    compare.py OURS.csv REFERENCE.csv

Flows are matched by their 5-tuple (either orientation; the first of each
kind when a tuple repeats). For each feature: the share of matched flows
where the two agree within 0.1% (or 1 unit, for times in microseconds),
and one disagreeing example.
"""
import csv
import sys

# reference column -> ours (improved CIC-IDS2017 layout)
NAMES = {
    "flow_duration": "Flow Duration", "tot_fwd_pkts": "Total Fwd Packet", "tot_bwd_pkts": "Total Bwd packets",
    "totlen_fwd_pkts": "Total Length of Fwd Packet", "totlen_bwd_pkts": "Total Length of Bwd Packet",
    "fwd_pkt_len_max": "Fwd Packet Length Max", "fwd_pkt_len_min": "Fwd Packet Length Min",
    "fwd_pkt_len_mean": "Fwd Packet Length Mean", "fwd_pkt_len_std": "Fwd Packet Length Std",
    "bwd_pkt_len_max": "Bwd Packet Length Max", "bwd_pkt_len_min": "Bwd Packet Length Min",
    "bwd_pkt_len_mean": "Bwd Packet Length Mean", "bwd_pkt_len_std": "Bwd Packet Length Std",
    "flow_byts_s": "Flow Bytes/s", "flow_pkts_s": "Flow Packets/s", "flow_iat_mean": "Flow IAT Mean",
    "flow_iat_std": "Flow IAT Std", "flow_iat_max": "Flow IAT Max", "flow_iat_min": "Flow IAT Min",
    "fwd_iat_tot": "Fwd IAT Total", "fwd_iat_mean": "Fwd IAT Mean", "fwd_iat_std": "Fwd IAT Std",
    "fwd_iat_max": "Fwd IAT Max", "fwd_iat_min": "Fwd IAT Min", "bwd_iat_tot": "Bwd IAT Total",
    "bwd_iat_mean": "Bwd IAT Mean", "bwd_iat_std": "Bwd IAT Std", "bwd_iat_max": "Bwd IAT Max",
    "bwd_iat_min": "Bwd IAT Min", "fwd_psh_flags": "Fwd PSH Flags", "bwd_psh_flags": "Bwd PSH Flags",
    "fwd_urg_flags": "Fwd URG Flags", "bwd_urg_flags": "Bwd URG Flags", "fwd_header_len": "Fwd Header Length",
    "bwd_header_len": "Bwd Header Length", "fwd_pkts_s": "Fwd Packets/s", "bwd_pkts_s": "Bwd Packets/s",
    "pkt_len_min": "Packet Length Min", "pkt_len_max": "Packet Length Max", "pkt_len_mean": "Packet Length Mean",
    "pkt_len_std": "Packet Length Std", "pkt_len_var": "Packet Length Variance", "fin_flag_cnt": "FIN Flag Count",
    "syn_flag_cnt": "SYN Flag Count", "rst_flag_cnt": "RST Flag Count", "psh_flag_cnt": "PSH Flag Count",
    "ack_flag_cnt": "ACK Flag Count", "urg_flag_cnt": "URG Flag Count", "cwr_flag_count": "CWR Flag Count",
    "ece_flag_cnt": "ECE Flag Count", "down_up_ratio": "Down/Up Ratio", "pkt_size_avg": "Average Packet Size",
    "fwd_seg_size_avg": "Fwd Segment Size Avg", "bwd_seg_size_avg": "Bwd Segment Size Avg",
    "fwd_byts_b_avg": "Fwd Bytes/Bulk Avg", "fwd_pkts_b_avg": "Fwd Packet/Bulk Avg",
    "fwd_blk_rate_avg": "Fwd Bulk Rate Avg", "bwd_byts_b_avg": "Bwd Bytes/Bulk Avg",
    "bwd_pkts_b_avg": "Bwd Packet/Bulk Avg", "bwd_blk_rate_avg": "Bwd Bulk Rate Avg",
    "subflow_fwd_pkts": "Subflow Fwd Packets", "subflow_fwd_byts": "Subflow Fwd Bytes",
    "subflow_bwd_pkts": "Subflow Bwd Packets", "subflow_bwd_byts": "Subflow Bwd Bytes",
    "init_fwd_win_byts": "FWD Init Win Bytes", "init_bwd_win_byts": "Bwd Init Win Bytes",
    "fwd_act_data_pkts": "Fwd Act Data Pkts", "fwd_seg_size_min": "Fwd Seg Size Min",
    "active_mean": "Active Mean", "active_std": "Active Std", "active_max": "Active Max", "active_min": "Active Min",
    "idle_mean": "Idle Mean", "idle_std": "Idle Std", "idle_max": "Idle Max", "idle_min": "Idle Min",
}


def rows(path, src, dst, sport, dport):
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = frozenset([(r[src], r[sport]), (r[dst], r[dport])])
            out.setdefault(key, r)
    return out


def close(a, b, name):
    if a == b:
        return True
    tol = 1.0 if ("IAT" in name or "Duration" in name or "Active" in name or "Idle" in name) else 0.0
    return abs(a - b) <= max(tol, 1e-3 * max(abs(a), abs(b)))


def main():
    ours = rows(sys.argv[1], "Src IP", "Dst IP", "Src Port", "Dst Port")
    ref = rows(sys.argv[2], "src_ip", "dst_ip", "src_port", "dst_port")
    both = [k for k in ours if k in ref]
    print(f"flows: ours {len(ours)}, reference {len(ref)}, matched {len(both)}")
    report = []
    for theirs, mine in NAMES.items():
        agree, example = 0, None
        for k in both:
            a, b = float(ours[k][mine]), float(ref[k][theirs])
            if close(a, b, mine):
                agree += 1
            elif example is None:
                example = (a, b)
        report.append((agree / max(len(both), 1), mine, example))
    report.sort()
    for share, name, example in report:
        ex = "" if example is None else f"  e.g. ours {example[0]:g}, reference {example[1]:g}"
        print(f"{share * 100:6.1f}%  {name}{ex}")


if __name__ == "__main__":
    main()
