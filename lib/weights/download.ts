/**
 * Downloads a file with progress, resume (HTTP Range on `<dest>.part`) and sha256 verification; the
 * destination appears only once complete and verified.
 *
 *   await downloadFile(entry.url, 'models/pretrained/resnet34-b627a593.pth', { sha256Prefix: 'b627a593', onProgress });
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';

export interface DownloadOptions {
  /** Full hex sha256 of the file. */
  sha256?: string;
  /** Leading hex digits of the sha256 (torchvision puts 8 of them in its file names; torch.hub checks the same). */
  sha256Prefix?: string;
  onProgress?: (p: { received: number; total: number | null; resumedFrom: number }) => void;
  maxRedirects?: number;
}

/** Downloads `url` to `dest`, resuming a previous `.part`; throws (and drops the part) on checksum mismatch. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<{ bytes: number; sha256: string; resumedFrom: number }> {
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  const part = `${dest}.part`;
  const resumedFrom = fs.existsSync(part) ? fs.statSync(part).size : 0;
  await fetchInto(url, part, resumedFrom, opts, opts.maxRedirects ?? 5);
  const sha256 = await hashFile(part);
  const want = (opts.sha256 ?? opts.sha256Prefix)?.toLowerCase();
  if (want && !sha256.startsWith(want)) {
    fs.rmSync(part, { force: true });
    throw new Error(`${url}: sha256 ${sha256} does not match the expected ${want}${opts.sha256 ? '' : '…'}; the partial file was deleted, run the download again.`);
  }
  fs.renameSync(part, dest);
  return { bytes: fs.statSync(dest).size, sha256, resumedFrom };
}

function fetchInto(url: string, part: string, offset: number, opts: DownloadOptions, redirects: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {} }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new Error(`${url}: too many redirects.`));
        return fetchInto(new URL(res.headers.location, url).toString(), part, offset, opts, redirects - 1).then(resolve, reject);
      }
      if (status === 416 && offset > 0) {
        res.resume(); // the part is already complete
        return resolve();
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        return reject(new Error(`${url}: HTTP ${status}.`));
      }
      // A 200 to a Range request means the server ignored it: start over.
      const start = status === 206 ? offset : 0;
      const length = Number(res.headers['content-length']);
      const total = Number.isFinite(length) ? start + length : null;
      const out = fs.createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
      let received = start;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        opts.onProgress?.({ received, total, resumedFrom: start });
      });
      // Keep what arrived (flushed) so the next run resumes from it.
      res.on('error', (err) => out.end(() => reject(new Error(`${url}: ${err.message} at byte ${received}; run again to resume.`))));
      out.on('error', reject);
      out.on('finish', () => (total !== null && received < total ? reject(new Error(`${url}: connection closed at ${received} of ${total} bytes; run again to resume.`)) : resolve()));
      res.pipe(out);
    });
    req.on('error', (err) => reject(new Error(`${url}: ${err.message}; run again to resume.`)));
  });
}

/** sha256 of a file, streamed. */
export function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(file).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}
