"""Evidence: what a file's own bytes say, read as hostile input.

File facts (type from the bytes, SHA-256, dimensions, truncation, decompression
bombs), EXIF, XMP and IPTC-IIM reconciled per the Metadata Working Group (the written
claim: place, caption, creator, dates), forensic facts (thumbnail, XMP editor, C2PA, perceptual hash), the
metadata checks that compare them (time, time zone, sun, editing), image decoding,
the isolated worker every parser runs in, and where files come from (paths, folders,
uploads, zip archives); and, at the bottom of the package, owner-only folders and files for
what geoloc writes (``private_files``) and invisible characters made visible wherever a string is
shown (``visible_text``).

May import: the standard library and third-party parsers only; no other geoloc group.
"""
