"""The write side: read report files, clean them, extract metadata, chunk and index them."""
