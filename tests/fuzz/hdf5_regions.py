"""Where the structures of a small HDF5 file lie, so the HDF5 input fuzz run (hdf5_fuzz.py) can
aim its byte flips at each kind of structure rather than only at random offsets.

Found with h5py's low-level API (object header addresses and sizes from H5Oget_info, chunk
addresses from H5Dget_chunk_info), and, for what h5py does not expose (the B-trees and heaps
that index chunks and links), by reading the few structures of HDF5's file format that files
written with the default (earliest) format bounds hold: superblock version 0, version 1 object
headers, version 1 B-trees, symbol table nodes, local and global heaps
(https://docs.hdfgroup.org/hdf5/v1_10/_f_m_t3.html). Anything else is refused, so the campaign
never aims at a structure it has misread.
"""
import struct

import h5py

SUPERBLOCK_V0_BYTES = 96  # 24 fixed bytes, 4 addresses, the root group's symbol table entry
MESSAGE_LAYOUT = 0x0008
MESSAGE_CONTINUATION = 0x0010
MESSAGE_SYMBOL_TABLE = 0x0011


class Regions:
    """Byte ranges [begin, end) of a file by kind, and the raw-data chunks of each dataset."""

    def __init__(self):
        self.ranges = {"superblock": [], "object_header": [], "chunk_index": [],
                       "group_index": [], "global_heap": [], "data": []}
        # (dataset path, chunk offset tuple, file address, size) of every stored chunk.
        self.chunks = []

    def add(self, kind, begin, end):
        if end > begin:
            self.ranges[kind].append((begin, end))

    def size(self, kind):
        return sum(end - begin for begin, end in self.ranges[kind])


def _u16(data, at):
    return struct.unpack_from("<H", data, at)[0]


def _u32(data, at):
    return struct.unpack_from("<I", data, at)[0]


def _u64(data, at):
    return struct.unpack_from("<Q", data, at)[0]


def _object_header(data, address, regions):
    """(type, message data offset, size) of every message of the version 1 object header at
    `address`, following continuation blocks; adds the header's blocks to the regions."""
    if data[address] != 1:
        raise ValueError(f"object header at {address} is version {data[address]}, expected 1")
    count = _u16(data, address + 2)
    regions.add("object_header", address, address + 16)
    blocks = [(address + 16, _u32(data, address + 8))]
    messages = []
    while blocks and len(messages) < count:
        at, length = blocks.pop(0)
        end = at + length
        regions.add("object_header", at, end)
        while at + 8 <= end and len(messages) < count:
            kind, size = _u16(data, at), _u16(data, at + 2)
            messages.append((kind, at + 8, size))
            if kind == MESSAGE_CONTINUATION:
                blocks.append((_u64(data, at + 8), _u64(data, at + 16)))
            at += 8 + size
    return messages


def _btree_v1(data, address, key_bytes, regions, kind, leaves):
    """Adds the used bytes of the version 1 B-tree at `address` (and its subtrees) to `kind`;
    appends the children of its leaves to `leaves`."""
    if data[address:address + 4] != b"TREE":
        raise ValueError(f"no B-tree signature at {address}")
    level, used = data[address + 5], _u16(data, address + 6)
    regions.add(kind, address, address + 24 + used * 8 + (used + 1) * key_bytes)
    for i in range(used):
        child = _u64(data, address + 24 + key_bytes + i * (8 + key_bytes))
        if level > 0:
            _btree_v1(data, child, key_bytes, regions, kind, leaves)
        else:
            leaves.append(child)


def _symbol_table(data, message_at, regions):
    """The B-tree, symbol table nodes and local heap of an old-style group."""
    btree, heap = _u64(data, message_at), _u64(data, message_at + 8)
    nodes = []
    _btree_v1(data, btree, 8, regions, "group_index", nodes)  # keys: heap offsets (8 bytes)
    for node in nodes:
        if data[node:node + 4] != b"SNOD":
            raise ValueError(f"no symbol table node signature at {node}")
        regions.add("group_index", node, node + 8 + _u16(data, node + 6) * 40)
    if data[heap:heap + 4] != b"HEAP":
        raise ValueError(f"no local heap signature at {heap}")
    regions.add("group_index", heap, heap + 32)
    segment_size, segment = _u64(data, heap + 8), _u64(data, heap + 24)
    regions.add("group_index", segment, segment + segment_size)


def _chunk_index(data, message_at, message_size, regions):
    """The chunk B-tree named by a version 3 layout message of a chunked dataset."""
    version, layout_class = data[message_at], data[message_at + 1]
    if version != 3:
        raise ValueError(f"layout message version {version}, expected 3")
    if layout_class != 2:
        return  # contiguous or compact: no index
    dimensionality = data[message_at + 2]  # the dataset's rank + 1 (the element size)
    if message_size < 3 + 8 + 4 * dimensionality:
        raise ValueError("short layout message")
    address = _u64(data, message_at + 3)
    _btree_v1(data, address, 8 + 8 * dimensionality, regions, "chunk_index", [])


def _global_heaps(data, regions):
    """The used part of each global heap collection (variable-length strings of attributes, such
    as feature_names): its 16-byte header and its objects up to the free space (object 0)."""
    at = data.find(b"GCOL")
    while at >= 0:
        if data[at + 4] == 1:
            end, limit = at + 16, min(len(data), at + _u64(data, at + 8))
            while end + 16 <= limit and _u16(data, end) != 0:
                end += 16 + (_u64(data, end + 8) + 7) // 8 * 8
            regions.add("global_heap", at, min(end, limit))
        at = data.find(b"GCOL", at + 4)


def find_regions(path):
    """The Regions of the HDF5 file at `path` (superblock version 0 only)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89HDF\r\n\x1a\n" or data[8] != 0:
        raise ValueError(f"{path}: expected superblock version 0 at offset 0")
    regions = Regions()
    regions.add("superblock", 0, SUPERBLOCK_V0_BYTES)
    objects = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: objects.append(obj))
        for obj in [f] + objects:
            for kind, at, size in _object_header(data, h5py.h5o.get_info(obj.id).addr, regions):
                if kind == MESSAGE_SYMBOL_TABLE:
                    _symbol_table(data, at, regions)
                elif kind == MESSAGE_LAYOUT:
                    _chunk_index(data, at, size, regions)
            if isinstance(obj, h5py.Dataset):
                _dataset_data(obj, regions)
    _global_heaps(data, regions)
    return regions


def _dataset_data(dataset, regions):
    if dataset.chunks is None:
        offset = dataset.id.get_offset()
        if offset is not None:
            regions.add("data", offset, offset + dataset.id.get_storage_size())
        return
    for i in range(dataset.id.get_num_chunks()):
        info = dataset.id.get_chunk_info(i)
        regions.add("data", info.byte_offset, info.byte_offset + info.size)
        regions.chunks.append((dataset.name, info.chunk_offset, info.byte_offset, info.size))
