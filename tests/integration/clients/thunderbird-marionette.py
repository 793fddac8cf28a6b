#!/usr/bin/env python3
"""Drives a headless Thunderbird over Marionette (chrome context) as a user of
mailtoken would: the module loaded as a security device, the test CA
trusted, PINs typed when Thunderbird asks for them; then Thunderbird's own
code opens encrypted mail (its message display: libmime, its CMS decoder,
its NSS), and signs mail (its compose code, MimeMessage + nsIMsgComposeSecure).

    thunderbird-marionette.py PORT_FILE CONFIG.json

CONFIG: module, root_ca (PEM), pins {email: pin}, mails [{file, email, marker}],
signers [{email, cert_der_b64, expect: "sign"|"refuse"}], out_dir.
Prints what happened; exits 1 on any failure."""
import base64
import json
import os
import socket
import subprocess
import sys


class Marionette:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=180)
        self.buf = b""
        self.id = 0
        hello = self._receive()
        if hello.get("applicationType") != "gecko":
            raise RuntimeError("not a Marionette server: %r" % hello)

    def _receive(self):
        while b":" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("Thunderbird closed the Marionette connection")
            self.buf += chunk
        length, rest = self.buf.split(b":", 1)
        length = int(length)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("Thunderbird closed the Marionette connection")
            rest += chunk
        self.buf = rest[length:]
        return json.loads(rest[:length])

    def command(self, name, params):
        self.id += 1
        data = json.dumps([0, self.id, name, params]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            reply = self._receive()
            if reply[0] == 1 and reply[1] == self.id:
                if reply[2]:
                    raise RuntimeError("%s: %s" % (name, reply[2].get("message", reply[2])))
                return reply[3]

    def script(self, source, *args):
        # one sandbox for every script: the prompter's record outlives the call
        return self.command("WebDriver:ExecuteScript", {"script": source, "args": list(args),
                                                         "sandbox": "mailtoken", "newSandbox": False})["value"]


# The module as a security device (what Settings > Privacy & Security >
# Security Devices > Load does), the test CA trusted for mail, and a prompter
# that types each token's PIN when Thunderbird asks, counting the questions.
SETUP = r"""
const [modulePath, rootPem, pins] = arguments;
return (async () => {
  const moduleDb = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  moduleDb.addModule("mailtoken", modulePath, 0, 0);
  const certDb = Cc["@mozilla.org/security/x509certdb;1"].getService(Ci.nsIX509CertDB);
  certDb.addCertFromBase64(rootPem.replace(/-----[^-]*-----/g, "").replace(/\s/g, ""), "C,C,C");
  globalThis.mtAsked = [];
  const prompter = {
    QueryInterface: ChromeUtils.generateQI(["nsIPrompt"]),
    promptPassword(title, text, password) {
      const email = Object.keys(pins).find(e => text.includes("(" + e + ")"));
      globalThis.mtAsked.push(email || text);
      if (!email) return false;
      password.value = pins[email];
      return true;
    },
  };
  const factory = {
    QueryInterface: ChromeUtils.generateQI(["nsIFactory", "nsIPromptFactory"]),
    createInstance(iid) { return this.QueryInterface(iid); },
    getPrompt(win, iid) { return prompter.QueryInterface(iid); },
  };
  Components.manager.QueryInterface(Ci.nsIComponentRegistrar).registerFactory(
    Components.ID("{7d3c8f9e-2b41-4c6a-9e15-0f2a6b8c4d21}"), "mailtoken test prompter",
    "@mozilla.org/prompter;1", factory);
  const modules = await moduleDb.listModules();
  const mailtoken = modules.find(m => m.name == "mailtoken");
  return mailtoken ? mailtoken.slots.map(s => s.tokenName) : [];
})();
"""

# A mail added to a local folder and shown the way the message pane shows it
# (libmime's HTML output): an encrypted part is decrypted on the way.
DISPLAY = r"""
const [eml] = arguments;
return (async () => {
  const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
  const { NetUtil } = ChromeUtils.importESModule("resource://gre/modules/NetUtil.sys.mjs");
  let server;
  try { server = MailServices.accounts.localFoldersServer; } catch (e) {
    MailServices.accounts.createLocalMailAccount();
    server = MailServices.accounts.localFoldersServer;
  }
  const root = server.rootFolder;
  let folder = null;
  try { folder = root.getChildNamed("smime"); } catch (e) {}
  if (!folder) {
    root.createSubfolder("smime", null);
    folder = root.getChildNamed("smime");
  }
  folder.QueryInterface(Ci.nsIMsgLocalMailFolder);
  const hdr = folder.addMessage("From - Mon Jan  1 00:00:00 2024\n" + eml.replace(/\r\n/g, "\n"));
  const uri = folder.getUriForMsg(hdr);
  return await new Promise(resolve => {
    let data = "";
    MailServices.messageServiceFromURI(uri).streamMessage(uri, {
      QueryInterface: ChromeUtils.generateQI(["nsIStreamListener", "nsIRequestObserver"]),
      onStartRequest() {},
      onDataAvailable(request, stream, offset, count) { data += NetUtil.readInputStreamToString(stream, count); },
      onStopRequest(request, status) { resolve([status, data]); },
    }, null, null, true, "header=filter", false);
  });
})();
"""

# A signed mail from an identity whose signing certificate is the given one,
# written by Thunderbird's compose code (MimeMessage, as MessageSend.sys.mjs
# uses it).  On failure, the send report's message is the text of the
# "Send Message Error" dialog MessageSend's fail() shows.
SIGN = r"""
const [email, certDer] = arguments;
return (async () => {
  const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
  const { MimeMessage } = ChromeUtils.importESModule("resource:///modules/MimeMessage.sys.mjs");
  const certDb = Cc["@mozilla.org/security/x509certdb;1"].getService(Ci.nsIX509CertDB);
  const cert = certDb.constructX509FromBase64(certDer);
  const found = certDb.getCerts().find(c => c.sha256Fingerprint == cert.sha256Fingerprint);
  if (!found) return { error: "certificate not found in any token" };
  const identity = MailServices.accounts.createIdentity();
  identity.email = email;
  identity.setCharAttribute("signing_cert_dbkey", found.dbKey);
  identity.setUnicharAttribute("signing_cert_name", found.displayName);
  const secure = Cc["@mozilla.org/messengercompose/composesecure;1"].createInstance(Ci.nsIMsgComposeSecure);
  secure.signMessage = true;
  secure.requireEncryptMessage = false;
  const fields = Cc["@mozilla.org/messengercompose/composefields;1"].createInstance(Ci.nsIMsgCompFields);
  fields.from = email;
  fields.to = "friend@example.net";
  fields.subject = "signed by " + email;
  fields.composeSecure = secure;
  const report = Cc["@mozilla.org/messengercompose/sendreport;1"].createInstance(Ci.nsIMsgSendReport);
  report.reset();
  report.deliveryMode = Ci.nsIMsgCompDeliverMode.Now;
  report.currentProcess = Ci.nsIMsgSendReport.process_BuildMessage;
  const message = new MimeMessage(identity, fields, "", "text/plain",
    "Signed by Thunderbird with a key in the token.\r\n", Ci.nsIMsgSend.nsMsgDeliverNow, "",
    Ci.nsIMsgCompType.New, [], report);
  try {
    const file = await message.createMessageFile();
    const text = await IOUtils.readUTF8(file.path);
    await IOUtils.remove(file.path);
    return { token: found.tokenName, mail: text };
  } catch (e) {
    /* MessageSend's fail() shows this report: its message is the dialog's text */
    return { token: found.tokenName, error: String(e), messages: report.errMessage ? [report.errMessage] : [] };
  }
})();
"""


def main():
    port_file, config_file = sys.argv[1], sys.argv[2]
    with open(config_file) as f:
        config = json.load(f)
    with open(port_file) as f:
        port = int(f.read().strip())
    mn = Marionette(port)
    mn.command("WebDriver:NewSession", {"capabilities": {}})
    mn.command("Marionette:SetContext", {"value": "chrome"})
    mn.command("WebDriver:SetTimeouts", {"script": 120000})
    failures = []

    with open(config["root_ca"]) as f:
        root = f.read()
    tokens = mn.script(SETUP, config["module"], root, config["pins"])
    print("security device mailtoken loaded, tokens: %s" % ", ".join(tokens))
    for email in config["pins"]:
        if email not in tokens:
            failures.append("no token for %s" % email)

    for mail in config["mails"]:
        with open(mail["file"] + ".eml") as f:
            eml = f.read()
        status, shown = mn.script(DISPLAY, eml)
        name = os.path.basename(mail["file"])
        if status != 0 or mail["marker"] not in shown:
            failures.append("%s: not opened (status %s): %s" % (name, status, shown[-300:]))
            print("  %s: NOT opened" % name)
        else:
            print("  %s: opened for %s" % (name, mail["email"]))

    for signer in config["signers"]:
        result = mn.script(SIGN, signer["email"], signer["cert_der_b64"])
        label = "%s (%s)" % (signer["email"], signer["name"])
        if signer["expect"] == "sign":
            if "mail" not in result:
                failures.append("%s did not sign: %s" % (label, result))
                continue
            path = os.path.join(config["out_dir"], signer["name"] + ".eml")
            with open(path, "w", newline="") as f:
                f.write(result["mail"])
            check = subprocess.run(["openssl", "cms", "-verify", "-CAfile", config["ca_bundle"],
                                    "-in", path, "-signer", path + ".signer", "-out", "/dev/null"],
                                   capture_output=True, text=True)
            signer_der = subprocess.run(["openssl", "x509", "-in", path + ".signer", "-outform", "DER"],
                                        capture_output=True).stdout
            if check.returncode != 0:
                failures.append("%s: the signature does not verify: %s" % (label, check.stderr))
            elif signer_der != base64.b64decode(signer["cert_der_b64"]):
                failures.append("%s: signed with another certificate" % label)
            else:
                print("  %s: signed in token %s, verified by OpenSSL" % (label, result["token"]))
        else:
            if "mail" in result:
                failures.append("%s: signed with a history certificate" % label)
            else:
                print("  %s: refused; Thunderbird's error dialog says: %s"
                      % (label, " / ".join(result["messages"]) or "nothing"))
                if not result["messages"]:
                    failures.append("%s: refused without telling the user: %s" % (label, result.get("error")))

    asked = mn.script("return globalThis.mtAsked;") or []
    print("PINs asked for: %s" % ", ".join(asked))
    for email in set(asked):
        if asked.count(email) != 1:
            failures.append("the PIN of %s was asked %d times" % (email, asked.count(email)))
    unknown = [a for a in asked if a not in config["pins"]]
    if unknown:
        failures.append("unexpected PIN prompts: %s" % unknown)

    try:
        mn.command("Marionette:Quit", {"flags": ["eForceQuit"]})
    except RuntimeError:
        pass  # the connection closes as Thunderbird quits
    for failure in failures:
        print("FAIL: " + failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
