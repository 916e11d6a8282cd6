import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LIMITS, readUploads, refusal } from "../../js/uploads.js";

test("limits and files come from a boot reply or an upload reply", () => {
  const boot = readUploads({ upload_limit: 3, max_upload_size_bytes: 1048576, max_upload_size_mb: 1, uploads: [{ name: "a.txt" }] });
  assert.deepEqual(boot, { limits: { limit: 3, max_file_size_bytes: 1048576, max_file_size_mb: 1 }, files: [{ name: "a.txt" }] });
  const upload = readUploads({ files: [{ name: "a.txt" }, { name: "b.txt" }] }, boot.limits);
  assert.deepEqual(upload.limits, boot.limits, "limits the reply does not name are kept");
  assert.equal(upload.files.length, 2);
  assert.deepEqual(readUploads({}), { limits: DEFAULT_LIMITS, files: [] });
});

test("a batch over the count or size limit is refused with the reason", () => {
  const limits = { limit: 3, max_file_size_bytes: 1048576, max_file_size_mb: 1 };
  assert.equal(refusal(limits, 1, [{ name: "a", size: 10 }, { name: "b", size: 10 }]), null);
  assert.equal(
    refusal(limits, 2, [{ name: "a", size: 10 }, { name: "b", size: 10 }]),
    "At most 3 files per conversation: 2 uploaded, 2 more chosen.",
  );
  assert.equal(refusal(limits, 0, [{ name: "big.bin", size: 2 * 1048576 }]), "big.bin is 2.0 MB: the limit is 1 MB per file.");
});
