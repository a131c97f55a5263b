// Applies Tributary's patches to installed dependencies (npm `postinstall`). Each patch changes one file whose
// exact original content is known by its SHA-256, either replacing it whole or replacing one passage of it (`edit`,
// checked by the SHA-256 of the result): a file that is already patched is left alone, and any other content (a
// different version of the package) fails the install loudly rather than patching blindly.
'use strict'
const { createHash } = require('node:crypto')
const { existsSync, readFileSync, writeFileSync } = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..')
const PATCHES = [
  {
    // kafkajs 2.2.4 groups a batch's messages by partition in quadratic time (upstream tulios/kafkajs#1576,
    // never merged); on a 3,500-message send that took more CPU than encoding the messages.
    target: 'node_modules/kafkajs/src/producer/groupMessagesPerPartition.js',
    original: 'ea72357721fbf67770b5e06b9bf4260faa1e60f3affb556bff2cc7892c1881fb',
    replacement: 'deploy/patches/kafkajs/groupMessagesPerPartition.js',
  },
  {
    // kafkajs 2.2.4 encodes each record into a buffer of its own and copies it four times on the way into the
    // request; the replacement writes an uncompressed request body once, into a buffer of its exact size.
    target: 'node_modules/kafkajs/src/protocol/requests/produce/v3/request.js',
    original: '993a3db997827088f5acb08cacf3c67a99ec2886303ff465d244329b8a1c7f99',
    // Earlier versions of the replacement, replaced in an existing node_modules too.
    superseded: ['693538611394024a785672f62d05c896204e116d5a389c60649123de7b380e34'],
    replacement: 'deploy/patches/kafkajs/produceRequestV3.js',
  },
  {
    // kafkajs 2.2.4 copies each request body twice more, into new zeroed buffers of the next power of two; the
    // replacement writes size, header and body into one buffer of the exact size.
    target: 'node_modules/kafkajs/src/protocol/request.js',
    original: '2270900ca6474026c11957fe71ac586881985460ed2554db22ad8870dcaff634',
    replacement: 'deploy/patches/kafkajs/request.js',
  },
  {
    // kafkajs 2.2.4 checksums each record batch one byte at a time; the replacement reads eight at a time.
    target: 'node_modules/kafkajs/src/protocol/recordBatch/crc32C/crc32C.js',
    original: '1c09c7a44e7a207f2dabb920e6bf9f6b1b3fd9cc023e959a9e91ba83e5b6f61a',
    replacement: 'deploy/patches/kafkajs/crc32C.js',
  },
  {
    // zongji 0.9.0 pads every part of a date, time and decimal with zeros by building a 33-character string and
    // cutting it; the replacement gives the same strings without it.
    target: 'node_modules/@vlasky/zongji/lib/common.js',
    original: 'acb2cf05b030a099279e59ea7bc7aec4c0f9b9e23de13bcba8130e3f88361e2c',
    edit: {
      find:
        'export const zeroPad = function(num, size) {\n' +
        '  // Max 32 digits\n' +
        "  const s = '00000000000000000000000000000000' + num;\n" +
        '  return s.substr(s.length-size);\n' +
        '};\n',
      replacement: 'deploy/patches/zongji/zeroPad.js',
      result: '56e63d368e5bf6adcf342ba91072edb0058b9ee6ab1f49ae7010e2cb45462324',
    },
  },
]

const sha256 = (text) => createHash('sha256').update(text).digest('hex')

const fail = (message) => {
  console.error(`deploy/patches: ${message}`)
  process.exit(1)
}

/** The original with the edit's passage replaced by the content of its file (the passage must occur once). */
const edited = (patch, original) => {
  const text = original.toString('utf8')
  const at = text.indexOf(patch.edit.find)
  if (at < 0 || text.indexOf(patch.edit.find, at + 1) >= 0) fail(`${patch.target}: the passage to replace is not there exactly once`)
  const replacement = readFileSync(path.join(root, patch.edit.replacement), 'utf8')
  return Buffer.from(text.slice(0, at) + replacement + text.slice(at + patch.edit.find.length), 'utf8')
}

for (const patch of PATCHES) {
  const target = path.join(root, patch.target)
  if (!existsSync(target)) continue // the dependency is not installed (e.g. a partial install): nothing to patch
  const current = readFileSync(target)
  const hash = sha256(current)
  const replacement = patch.edit ? null : readFileSync(path.join(root, patch.replacement))
  if (replacement ? current.equals(replacement) : hash === patch.edit.result) continue
  if (hash !== patch.original && !(patch.superseded ?? []).includes(hash)) {
    fail(`${patch.target} is not the file this patch was written for (sha256 ${hash}); update the patch for the installed version`)
  }
  const result = replacement ?? edited(patch, current)
  if (patch.edit && sha256(result) !== patch.edit.result) {
    fail(`${patch.target}: the edited file is not the one expected (sha256 ${sha256(result)}); update the patch`)
  }
  writeFileSync(target, result)
}
