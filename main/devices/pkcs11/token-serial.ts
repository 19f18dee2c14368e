// Whether a token's serial number (CK_TOKEN_INFO.serialNumber) identifies it. Some vendors leave it
// blank or all zeros (NSS softokn: 0000000000000000 for every database), where it tells no token from
// another. A file of its own, without pkcs11js, so that code which never loads a module can ask too.

/** Whether a serial number names one token: blank or all zeros is a vendor's placeholder (NSS softokn). */
export function serialIdentifies(serialNumber: string): boolean {
  return /[^0 ]/.test(serialNumber);
}
