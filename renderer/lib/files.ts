// Files in and out of the page: a download made from bytes or text (a Blob URL, revoked at once), and a
// chosen file read as text or bytes. The console never writes a key, share or PIN to a file.

export function download(filename: string, content: Uint8Array | string, type = 'application/octet-stream'): void {
  const blob = new Blob([content as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export async function readBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

export async function readText(file: Blob): Promise<string> {
  return file.text();
}

/** The first file an <input type=file> holds, or undefined. */
export const chosenFile = (input: HTMLInputElement | null | undefined): File | undefined => input?.files?.[0] ?? undefined;
