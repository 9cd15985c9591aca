"""Region registry: official Kemendagri codes for provinsi, kabupaten/kota, kecamatan and desa/kelurahan."""
