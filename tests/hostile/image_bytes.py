"""Hand-built JPEG and PNG bytes for the hostile corpus (make_corpus.py) and its
before/after measurements (measure.py): standard library only, deterministic.

The JPEGs are as small as libjpeg accepts: one all-ones quantisation table and
Huffman tables with a single 1-bit code (DC difference 0; AC end-of-block), so
one zero bit per block codes an all-grey picture, and a few bytes of entropy
data followed by EOI make libjpeg fill every missing block itself (a warning,
which Pillow ignores too). Their size is what the header claims, not the file.
"""
import struct
import zlib


def jpeg_segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_frame(width, height, components, progressive, sampling=0x11):
    """SOF0 (baseline) or SOF2 (progressive), every component on table 0."""
    comps = b"".join(bytes([i + 1, sampling if i == 0 else 0x11, 0]) for i in range(components))
    return jpeg_segment(0xC2 if progressive else 0xC0, struct.pack(">BHHB", 8, height, width, components) + comps)


JPEG_DQT = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
JPEG_DHT_DC = jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")  # DC table 0: '0' -> difference 0
JPEG_DHT_AC = jpeg_segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")  # AC table 0: '0' -> end of block


def jpeg_scan(component_ids, ss=0, se=63, ah_al=0):
    comps = b"".join(bytes([c, 0x00]) for c in component_ids)
    return jpeg_segment(0xDA, bytes([len(component_ids)]) + comps + bytes([ss, se, ah_al]))


def jpeg_baseline(width, height, components=3):
    """One interleaved scan of one data byte: libjpeg decodes the rest as grey."""
    ids = list(range(1, components + 1))
    return (b"\xff\xd8" + JPEG_DQT + jpeg_frame(width, height, components, False) + JPEG_DHT_DC + JPEG_DHT_AC +
            jpeg_scan(ids) + b"\x00" + b"\xff\xd9")


def jpeg_progressive(width, height, components=3, ac_scans=1):
    """A DC scan of every component, then `ac_scans` AC scans of component 1
    (Ss 1, Se 63, first pass each time: a legal progression libjpeg accepts)."""
    ids = list(range(1, components + 1))
    body = jpeg_scan(ids, 0, 0) + b"\x00"
    body += (jpeg_scan([1], 1, 63) + b"\x00") * ac_scans
    return (b"\xff\xd8" + JPEG_DQT + jpeg_frame(width, height, components, True) + JPEG_DHT_DC + JPEG_DHT_AC + body +
            b"\xff\xd9")


def png_chunk(kind, data, crc_xor=0):
    crc = (zlib.crc32(kind + data) & 0xFFFFFFFF) ^ crc_xor
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_ihdr(width, height, bit_depth, color_type, interlace=0):
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace))


def png_zero_idat(height, row_bytes, level=9):
    """IDAT holding `height` filter-0 rows of zeros, compressed row by row
    (a 1.6 GB image needs no 1.6 GB string)."""
    z = zlib.compressobj(level)
    row = b"\x00" * (1 + row_bytes)
    out = [z.compress(row) for _ in range(height)]
    out.append(z.flush())
    return png_chunk(b"IDAT", b"".join(out))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_zero_idat_interlaced(width, height, bytes_per_pixel, level=9):
    """IDAT of an Adam7-interlaced image of zeros: each pass's rows, filter 0."""
    z = zlib.compressobj(level)
    out = []
    for x0, y0, dx, dy in ADAM7:
        cols, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if cols > 0:
            row = b"\x00" * (1 + cols * bytes_per_pixel)
            out += [z.compress(row) for _ in range(rows)]
    out.append(z.flush())
    return png_chunk(b"IDAT", b"".join(out))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = png_chunk(b"IEND", b"")


def png_palette_trns(width, height):
    """1-bit palette image with a tRNS chunk: libpng expands it to RGBA."""
    return (PNG_SIGNATURE + png_ihdr(width, height, 1, 3) + png_chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff") +
            png_chunk(b"tRNS", b"\x00") + png_zero_idat(height, (width + 7) // 8) + PNG_IEND)


def png_rgb(width, height):
    """A plain 8-bit RGB PNG of zeros."""
    return PNG_SIGNATURE + png_ihdr(width, height, 8, 2) + png_zero_idat(height, width * 3) + PNG_IEND
