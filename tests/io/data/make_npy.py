#!/usr/bin/python3
"""Writes the .npy files that tests/io/npy_test.cpp reads, using numpy's own writer.

Run from anywhere: /usr/bin/python3 tests/io/data/make_npy.py
The expected values are restated in npy_test.cpp; change both together.
"""
import os

import numpy as np
from numpy.lib import format as npy_format

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, array, version):
    with open(os.path.join(HERE, name), "wb") as f:
        npy_format.write_array(f, array, version=version, allow_pickle=False)


# v1.0, '<f4', C order, shape (3, 4): (i*4 + j - 5.5) * 0.25
write("v1_f4_c.npy", ((np.arange(12) - 5.5) * 0.25).astype("<f4").reshape(3, 4), (1, 0))
# v1.0, '>f8' (big-endian), shape (2, 3)
write("be_f8.npy", np.array([[1.5, -2.25, 1024.125], [-0.0, 3.0, 65536.5]], dtype=">f8"), (1, 0))
# v1.0, '<i2', fortran_order True, shape (2, 3, 4): value at (i, j, k) = (i*12 + j*4 + k)*100 - 1200
write("fortran_i16.npy",
      np.asfortranarray((np.arange(24).reshape(2, 3, 4) * 100 - 1200).astype("<i2")), (1, 0))
# v2.0 (4-byte header length), '|u1', shape (4, 5): (n * 13) % 256
write("v2_u8.npy", ((np.arange(20) * 13) % 256).astype("u1").reshape(4, 5), (2, 0))
# v3.0 (UTF-8 header), '<i4', shape (5,)
write("v3_i4.npy", np.array([-2**31, -1, 0, 1, 2**31 - 1], dtype="<i4"), (3, 0))
# v1.0, '<f8', shape () — a scalar
write("scalar_f8.npy", np.array(3.25, dtype="<f8"), (1, 0))
