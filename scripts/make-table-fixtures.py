#!/usr/bin/env python3
"""Writes Tests/Fixtures/tables/: tiny NumPy files, written by numpy itself, that the
tabular readers (Sources/MOCCAData/Tables) must read as numpy does.

  deflated.npz   np.savez_compressed: x = arange(12, float32).reshape(3, 4) / 4,
                 y = int64 [0, 1, 0] (deflated members)
  stored.npz     np.savez of the same arrays (stored members; numpy forces a Zip64
                 extra field into each local header)
  fortran.npy    float64 arange(6).reshape(2, 3) + 0.5 in Fortran order
  bigendian.npy  '>i4' [[1, -2], [300000, -4]]
  bigendian-f8.npy '>f8' [1.5, -2.25, 1e300]

The tests compare with these values, computed by hand.

Usage:
    python3 scripts/make-table-fixtures.py
"""
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tables")


def main():
    os.makedirs(ROOT, exist_ok=True)
    x = (np.arange(12, dtype=np.float32).reshape(3, 4) / 4).astype(np.float32)
    y = np.array([0, 1, 0], dtype=np.int64)
    np.savez_compressed(os.path.join(ROOT, "deflated.npz"), x=x, y=y)
    np.savez(os.path.join(ROOT, "stored.npz"), x=x, y=y)
    fortran = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3) + 0.5)
    assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
    np.save(os.path.join(ROOT, "fortran.npy"), fortran)
    np.save(os.path.join(ROOT, "bigendian.npy"), np.array([[1, -2], [300000, -4]], dtype=">i4"))
    np.save(os.path.join(ROOT, "bigendian-f8.npy"), np.array([1.5, -2.25, 1e300], dtype=">f8"))
    print("numpy", np.__version__, "wrote", sorted(os.listdir(ROOT)))


if __name__ == "__main__":
    main()
