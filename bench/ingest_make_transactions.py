#!/usr/bin/python3
"""Writes a synthetic transaction log for the ingest throughput benchmark.

usage: bench/ingest_make_transactions.py OUTPUT.csv [--bytes 1e9] [--customers 1000000] [--seed 1]

Columns: customer_id (integer), order_date (YYYY-MM-DD over 2022-2024), amount (2 decimals,
log-normal), quantity (1-4); a header row. Customers are drawn with a skew (a few buy often).
"""
import argparse
import os

import numpy as np
import pandas as pd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--bytes", type=float, default=1e9)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    chunk = 1_000_000
    start = np.datetime64("2022-01-01")
    with open(args.output, "w") as out:
        out.write("customer_id,order_date,amount,quantity\n")
        while out.tell() < args.bytes:
            customers = (rng.pareto(1.2, chunk) * args.customers / 20).astype(np.int64)
            frame = pd.DataFrame({
                "customer_id": 100000 + customers % args.customers,
                "order_date": (start + rng.integers(0, 1096, chunk)).astype(str),
                "amount": np.round(rng.lognormal(3.0, 1.0, chunk), 2),
                "quantity": rng.integers(1, 5, chunk),
            })
            frame.to_csv(out, header=False, index=False, float_format="%.2f")
    print(f"{args.output}: {os.path.getsize(args.output) / 1e9:.3f} GB")


if __name__ == "__main__":
    main()
