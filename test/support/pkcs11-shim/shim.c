/*
 * Kura's fault-injection PKCS#11 module, for tests only.
 *
 * A PKCS#11 v2.40 module that forwards every call to a real module and, when told to, hangs, crashes
 * or fails in a chosen function instead: what a wedged or dying device does, which SoftHSM and NSS
 * softokn never do. Tests use it to prove that Kura survives such a module (time-outs, a crashed
 * child process, a device error). test/support/pkcs11-shim.ts builds it (buildPkcs11Shim()) and
 * writes the control file (setShimFault()).
 *
 * Environment, read once, the first time the module is loaded (C_GetFunctionList):
 *   KURA_SHIM_TARGET   absolute path of the real module (dlopen RTLD_NOW|RTLD_LOCAL); required, or
 *                      C_GetFunctionList answers CKR_GENERAL_ERROR (the reason goes to stderr).
 *   KURA_SHIM_CONTROL  path of the control file; unset means no faults, ever.
 *
 * The control file is read (open, read, close; nothing cached) before each of C_Initialize,
 * C_Finalize, C_GetTokenInfo, C_GetSlotList, C_OpenSession, C_CloseSession, C_GetSessionInfo,
 * C_Login, C_Logout,
 * C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, C_GetAttributeValue, C_GenerateKey,
 * C_DeriveKey, C_EncryptInit, C_Encrypt, C_DecryptInit, C_Decrypt, C_DestroyObject and
 * C_GenerateRandom. It holds one line, `ACTION FUNCTION`:
 *   ACTION    hang   block the calling thread forever (never returns);
 *             crash  kill the process with SIGSEGV (handler reset to the default first, so a
 *                    runtime's own SIGSEGV handler cannot catch it);
 *             fail   return CKR_DEVICE_ERROR (0x30) without calling the real module;
 *             fail=RV  return RV instead (C's strtoul: 0x6 for CKR_FUNCTION_FAILED, say; 0 or
 *                    unreadable: not a fault);
 *             nolock C_Initialize only: answer CKR_CANT_LOCK (0x0A) when the caller asks for OS
 *                    locking (CKF_OS_LOCKING_OK), and forward a C_Initialize that does not, as a
 *                    module that cannot lock does; in any other function, forward;
 *             lax    C_GenerateKey only: drop CKA_MODIFIABLE and CKA_COPYABLE from the template and
 *                    forward, as a token that ignores them (the key gets the module's defaults);
 *                    in any other function, forward;
 *             rdonly C_OpenSession only: answer CKR_TOKEN_WRITE_PROTECTED (0xE2) to a read-write
 *                    session (CKF_RW_SESSION), and forward a read-only one, as a write-protected
 *                    token does; in any other function, forward;
 *   FUNCTION  a function name from the list above, e.g. C_Encrypt, or * for all of them.
 * For example `hang C_Encrypt`. Surrounding blanks and a final newline are allowed; anything else
 * (no file, other words, a second line, an unknown action) means: forward normally. Every other
 * function always forwards.
 *
 * C_GetInfo forwards, then replaces manufacturerID with "Kura test shim" and libraryDescription with
 * "Kura PKCS#11 fault shim" (blank-padded to 32 bytes): Kura picks its vendor row by these strings,
 * and the shim must not pass for the module behind it. Slot and token information is the target's.
 *
 * Thread safety: the only shared state is the target's function list and the control path, set up
 * once under pthread_once; each fault check uses only its own stack.
 *
 * The target is loaded once per process and never unloaded. A process that loads the shim and its
 * target directly gets one instance of the target behind both (dlopen shares it), so C_Initialize
 * through the second answers CKR_CRYPTOKI_ALREADY_INITIALIZED.
 *
 * Build: cc -shared -fPIC -O1 -Wall -Werror -o OUT shim.c -I node_modules/pkcs11js/includes/pkcs11 -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The platform macros pkcs11.h asks for, in their Unix forms. pkcs11js's copy of the header defines
 * the same ones itself; a redefinition with the identical body is not a warning.
 */
#define CK_PTR *
#define CK_DEFINE_FUNCTION(returnType, name) \
  returnType name
#define CK_DECLARE_FUNCTION(returnType, name) \
  returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) \
  returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) \
  returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif

#include "pkcs11.h"

#define TARGET_ENV "KURA_SHIM_TARGET"
#define CONTROL_ENV "KURA_SHIM_CONTROL"
#define SHIM_MANUFACTURER "Kura test shim"
#define SHIM_DESCRIPTION "Kura PKCS#11 fault shim"
/* A control file is one short line; anything longer is not one. */
#define CONTROL_MAX 256

/* ---- The target, loaded once ---- */

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static CK_FUNCTION_LIST_PTR real_list;
static char control_path[4096];

static void load_target(void)
{
  const char *control = getenv(CONTROL_ENV);
  if (control != NULL && control[0] != '\0') {
    if (strlen(control) < sizeof control_path)
      strcpy(control_path, control);
    else
      fprintf(stderr, "kura-shim: %s is too long; no faults will be injected\n", CONTROL_ENV);
  }

  const char *target = getenv(TARGET_ENV);
  if (target == NULL || target[0] == '\0') {
    fprintf(stderr, "kura-shim: %s is not set\n", TARGET_ENV);
    return;
  }
  void *handle = dlopen(target, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    fprintf(stderr, "kura-shim: cannot load %s: %s\n", target, dlerror());
    return;
  }
  CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
  if (get_list == NULL || get_list == C_GetFunctionList) {
    /* The second case: the target is the shim itself, which would wait on its own pthread_once. */
    fprintf(stderr, "kura-shim: %s has no usable C_GetFunctionList\n", target);
    dlclose(handle);
    return;
  }
  CK_FUNCTION_LIST_PTR list = NULL;
  CK_RV rv = get_list(&list);
  if (rv != CKR_OK || list == NULL) {
    fprintf(stderr, "kura-shim: C_GetFunctionList of %s failed (0x%lx)\n", target, (unsigned long)rv);
    dlclose(handle);
    return;
  }
  /* The handle stays open for the life of the process: the list points into it. */
  real_list = list;
}

/* The target's function list, or NULL if it could not be loaded. */
static CK_FUNCTION_LIST_PTR target(void)
{
  pthread_once(&load_once, load_target);
  return real_list;
}

/* ---- Faults ---- */

enum fault { FAULT_NONE, FAULT_HANG, FAULT_CRASH, FAULT_FAIL, FAULT_NOLOCK, FAULT_RDONLY, FAULT_LAX };

/* The whole control file into buf (NUL-terminated), or 0 if there is none or it is too long. */
static int read_control(char *buf, size_t size)
{
  int fd = open(control_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  size_t len = 0;
  int ok = 1;
  for (;;) {
    ssize_t n = read(fd, buf + len, size - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ok = 0;
      break;
    }
    if (n == 0)
      break;
    len += (size_t)n;
    if (len == size) {
      ok = 0; /* no room left for the NUL: longer than any control line */
      break;
    }
  }
  close(fd);
  if (!ok || memchr(buf, '\0', len) != NULL)
    return 0;
  buf[len] = '\0';
  return 1;
}

/* The return value of a `fail` fault: CKR_DEVICE_ERROR, or the RV of `fail=RV`. */
struct fault_spec {
  enum fault kind;
  CK_RV rv;
};

/* What the control file asks of function `fn` now, and the return value of a `fail`. */
static enum fault fault_rv_for(const char *fn, CK_RV *rv)
{
  *rv = CKR_DEVICE_ERROR;
  if (control_path[0] == '\0')
    return FAULT_NONE;
  char buf[CONTROL_MAX];
  if (!read_control(buf, sizeof buf))
    return FAULT_NONE;

  /* One line: drop trailing blanks and newline, then no line break may remain. */
  size_t len = strlen(buf);
  while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
    buf[--len] = '\0';
  if (strpbrk(buf, "\r\n") != NULL)
    return FAULT_NONE;

  char *save = NULL;
  const char *action = strtok_r(buf, " \t", &save);
  const char *function = strtok_r(NULL, " \t", &save);
  if (action == NULL || function == NULL || strtok_r(NULL, " \t", &save) != NULL)
    return FAULT_NONE;
  if (strcmp(function, "*") != 0 && strcmp(function, fn) != 0)
    return FAULT_NONE;
  if (strcmp(action, "hang") == 0)
    return FAULT_HANG;
  if (strcmp(action, "crash") == 0)
    return FAULT_CRASH;
  if (strcmp(action, "fail") == 0)
    return FAULT_FAIL;
  if (strncmp(action, "fail=", 5) == 0) {
    char *end = NULL;
    unsigned long code = strtoul(action + 5, &end, 0);
    if (end == action + 5 || *end != '\0' || code == 0)
      return FAULT_NONE;
    *rv = (CK_RV)code;
    return FAULT_FAIL;
  }
  if (strcmp(action, "nolock") == 0)
    return FAULT_NOLOCK;
  if (strcmp(action, "rdonly") == 0)
    return FAULT_RDONLY;
  if (strcmp(action, "lax") == 0)
    return FAULT_LAX;
  return FAULT_NONE;
}

static void __attribute__((noreturn)) hang_forever(void)
{
  for (;;)
    pause();
}

static void __attribute__((noreturn)) crash_now(void)
{
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGSEGV, &dfl, NULL);
  sigset_t segv;
  sigemptyset(&segv);
  sigaddset(&segv, SIGSEGV);
  pthread_sigmask(SIG_UNBLOCK, &segv, NULL);
  raise(SIGSEGV);
  abort(); /* not reached */
}

static struct fault_spec fault_for(const char *fn)
{
  struct fault_spec f;
  f.kind = fault_rv_for(fn, &f.rv);
  return f;
}

/* Runs a fault, if any: returns only to forward (CKR_OK) or fail (its return value). */
static CK_RV inject_fault(struct fault_spec f)
{
  switch (f.kind) {
  case FAULT_HANG:
    hang_forever();
  case FAULT_CRASH:
    crash_now();
  case FAULT_FAIL:
    return f.rv;
  case FAULT_NOLOCK:
  case FAULT_RDONLY:
  case FAULT_LAX:
  case FAULT_NONE:
    break;
  }
  return CKR_OK;
}

static CK_RV inject(const char *fn)
{
  return inject_fault(fault_for(fn));
}

/* ---- Wrappers ---- */

/*
 * A static prototype shim_C_xxx for every function of pkcs11f.h, with the header's own parameter
 * types: a wrapper missing below is an unused-function error under -Wall -Werror, and one with the
 * wrong parameters a conflicting-types error.
 */
#define CK_NEED_ARG_LIST 1
#define CK_PKCS11_FUNCTION_INFO(name) static CK_RV shim_##name
#include "pkcs11f.h"
#undef CK_PKCS11_FUNCTION_INFO
#undef CK_NEED_ARG_LIST

/* A wrapper that always forwards. */
#define FORWARD(name, params, args)                  \
  static CK_RV shim_##name params                    \
  {                                                  \
    CK_FUNCTION_LIST_PTR t = target();               \
    return t == NULL ? CKR_GENERAL_ERROR : t->name args; \
  }

/* A wrapper that consults the control file first. */
#define GUARDED(name, params, args)                  \
  static CK_RV shim_##name params                    \
  {                                                  \
    CK_FUNCTION_LIST_PTR t = target();               \
    if (t == NULL)                                   \
      return CKR_GENERAL_ERROR;                      \
    CK_RV injected = inject(#name);                  \
    return injected != CKR_OK ? injected : t->name args; \
  }

/* General purpose */
static CK_RV shim_C_Initialize(CK_VOID_PTR pInitArgs)
{
  CK_FUNCTION_LIST_PTR t = target();
  if (t == NULL)
    return CKR_GENERAL_ERROR;
  struct fault_spec f = fault_for("C_Initialize");
  if (f.kind == FAULT_NOLOCK) {
    CK_C_INITIALIZE_ARGS_PTR args = (CK_C_INITIALIZE_ARGS_PTR)pInitArgs;
    if (args != NULL && (args->flags & CKF_OS_LOCKING_OK) != 0)
      return CKR_CANT_LOCK;
  }
  CK_RV injected = inject_fault(f);
  return injected != CKR_OK ? injected : t->C_Initialize(pInitArgs);
}
GUARDED(C_Finalize, (CK_VOID_PTR pReserved), (pReserved))

static void blank_pad(CK_UTF8CHAR *field, size_t size, const char *text)
{
  size_t n = strlen(text);
  if (n > size)
    n = size;
  memcpy(field, text, n);
  memset(field + n, ' ', size - n);
}

static CK_RV shim_C_GetInfo(CK_INFO_PTR pInfo)
{
  CK_FUNCTION_LIST_PTR t = target();
  if (t == NULL)
    return CKR_GENERAL_ERROR;
  CK_RV rv = t->C_GetInfo(pInfo);
  if (rv == CKR_OK && pInfo != NULL) {
    blank_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, SHIM_MANUFACTURER);
    blank_pad(pInfo->libraryDescription, sizeof pInfo->libraryDescription, SHIM_DESCRIPTION);
  }
  return rv;
}

static CK_FUNCTION_LIST shim_list; /* defined at the end */

static CK_RV shim_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
  if (ppFunctionList == NULL)
    return CKR_ARGUMENTS_BAD;
  if (target() == NULL)
    return CKR_GENERAL_ERROR;
  *ppFunctionList = &shim_list;
  return CKR_OK;
}

/* Slot and token management */
GUARDED(C_GetSlotList, (CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount), (tokenPresent, pSlotList, pulCount))
FORWARD(C_GetSlotInfo, (CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo), (slotID, pInfo))
GUARDED(C_GetTokenInfo, (CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo), (slotID, pInfo))
FORWARD(C_GetMechanismList, (CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount), (slotID, pMechanismList, pulCount))
FORWARD(C_GetMechanismInfo, (CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo), (slotID, type, pInfo))
FORWARD(C_InitToken, (CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel), (slotID, pPin, ulPinLen, pLabel))
FORWARD(C_InitPIN, (CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen), (hSession, pPin, ulPinLen))
FORWARD(C_SetPIN, (CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen),
        (hSession, pOldPin, ulOldLen, pNewPin, ulNewLen))

/* Session management */
static CK_RV shim_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
  CK_FUNCTION_LIST_PTR t = target();
  if (t == NULL)
    return CKR_GENERAL_ERROR;
  struct fault_spec f = fault_for("C_OpenSession");
  if (f.kind == FAULT_RDONLY && (flags & CKF_RW_SESSION) != 0)
    return CKR_TOKEN_WRITE_PROTECTED;
  CK_RV injected = inject_fault(f);
  return injected != CKR_OK ? injected : t->C_OpenSession(slotID, flags, pApplication, Notify, phSession);
}
GUARDED(C_CloseSession, (CK_SESSION_HANDLE hSession), (hSession))
FORWARD(C_CloseAllSessions, (CK_SLOT_ID slotID), (slotID))
GUARDED(C_GetSessionInfo, (CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo), (hSession, pInfo))
FORWARD(C_GetOperationState, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState, CK_ULONG_PTR pulOperationStateLen),
        (hSession, pOperationState, pulOperationStateLen))
FORWARD(C_SetOperationState, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState, CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey),
        (hSession, pOperationState, ulOperationStateLen, hEncryptionKey, hAuthenticationKey))
GUARDED(C_Login, (CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen), (hSession, userType, pPin, ulPinLen))
GUARDED(C_Logout, (CK_SESSION_HANDLE hSession), (hSession))

/* Object management */
FORWARD(C_CreateObject, (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject),
        (hSession, pTemplate, ulCount, phObject))
FORWARD(C_CopyObject, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject),
        (hSession, hObject, pTemplate, ulCount, phNewObject))
GUARDED(C_DestroyObject, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject), (hSession, hObject))
FORWARD(C_GetObjectSize, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize), (hSession, hObject, pulSize))
GUARDED(C_GetAttributeValue, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount),
        (hSession, hObject, pTemplate, ulCount))
FORWARD(C_SetAttributeValue, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount),
        (hSession, hObject, pTemplate, ulCount))
GUARDED(C_FindObjectsInit, (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount), (hSession, pTemplate, ulCount))
GUARDED(C_FindObjects, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount),
        (hSession, phObject, ulMaxObjectCount, pulObjectCount))
GUARDED(C_FindObjectsFinal, (CK_SESSION_HANDLE hSession), (hSession))

/* Encryption and decryption */
GUARDED(C_EncryptInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), (hSession, pMechanism, hKey))
GUARDED(C_Encrypt, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen),
        (hSession, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen))
FORWARD(C_EncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen),
        (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen))
FORWARD(C_EncryptFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart, CK_ULONG_PTR pulLastEncryptedPartLen),
        (hSession, pLastEncryptedPart, pulLastEncryptedPartLen))
GUARDED(C_DecryptInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), (hSession, pMechanism, hKey))
GUARDED(C_Decrypt, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen),
        (hSession, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen))
FORWARD(C_DecryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen),
        (hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen))
FORWARD(C_DecryptFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen), (hSession, pLastPart, pulLastPartLen))

/* Message digesting */
FORWARD(C_DigestInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism), (hSession, pMechanism))
FORWARD(C_Digest, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen),
        (hSession, pData, ulDataLen, pDigest, pulDigestLen))
FORWARD(C_DigestUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen), (hSession, pPart, ulPartLen))
FORWARD(C_DigestKey, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey), (hSession, hKey))
FORWARD(C_DigestFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen), (hSession, pDigest, pulDigestLen))

/* Signing and MACing */
FORWARD(C_SignInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), (hSession, pMechanism, hKey))
FORWARD(C_Sign, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen),
        (hSession, pData, ulDataLen, pSignature, pulSignatureLen))
FORWARD(C_SignUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen), (hSession, pPart, ulPartLen))
FORWARD(C_SignFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen), (hSession, pSignature, pulSignatureLen))
FORWARD(C_SignRecoverInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), (hSession, pMechanism, hKey))
FORWARD(C_SignRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen),
        (hSession, pData, ulDataLen, pSignature, pulSignatureLen))

/* Verifying signatures and MACs */
FORWARD(C_VerifyInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), (hSession, pMechanism, hKey))
FORWARD(C_Verify, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen),
        (hSession, pData, ulDataLen, pSignature, ulSignatureLen))
FORWARD(C_VerifyUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen), (hSession, pPart, ulPartLen))
FORWARD(C_VerifyFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen), (hSession, pSignature, ulSignatureLen))
FORWARD(C_VerifyRecoverInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), (hSession, pMechanism, hKey))
FORWARD(C_VerifyRecover, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen),
        (hSession, pSignature, ulSignatureLen, pData, pulDataLen))

/* Dual-function cryptographic operations */
FORWARD(C_DigestEncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen),
        (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen))
FORWARD(C_DecryptDigestUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen),
        (hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen))
FORWARD(C_SignEncryptUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen),
        (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen))
FORWARD(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen),
        (hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen))

/* Key management */
/* A template's attributes a `lax` token ignores. */
#define LAX_MAX 64
static CK_RV shim_C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
  CK_FUNCTION_LIST_PTR t = target();
  if (t == NULL)
    return CKR_GENERAL_ERROR;
  struct fault_spec f = fault_for("C_GenerateKey");
  if (f.kind == FAULT_LAX && pTemplate != NULL && ulCount <= LAX_MAX) {
    CK_ATTRIBUTE kept[LAX_MAX];
    CK_ULONG n = 0;
    for (CK_ULONG i = 0; i < ulCount; i++)
      if (pTemplate[i].type != CKA_MODIFIABLE && pTemplate[i].type != CKA_COPYABLE)
        kept[n++] = pTemplate[i];
    return t->C_GenerateKey(hSession, pMechanism, kept, n, phKey);
  }
  CK_RV injected = inject_fault(f);
  return injected != CKR_OK ? injected : t->C_GenerateKey(hSession, pMechanism, pTemplate, ulCount, phKey);
}
FORWARD(C_GenerateKeyPair,
        (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
         CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey),
        (hSession, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount, pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey, phPrivateKey))
FORWARD(C_WrapKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen),
        (hSession, pMechanism, hWrappingKey, hKey, pWrappedKey, pulWrappedKeyLen))
FORWARD(C_UnwrapKey,
        (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen,
         CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey),
        (hSession, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen, pTemplate, ulAttributeCount, phKey))
GUARDED(C_DeriveKey, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey),
        (hSession, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey))

/* Random number generation */
FORWARD(C_SeedRandom, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen), (hSession, pSeed, ulSeedLen))
GUARDED(C_GenerateRandom, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen), (hSession, RandomData, ulRandomLen))

/* Parallel function management (legacy) */
FORWARD(C_GetFunctionStatus, (CK_SESSION_HANDLE hSession), (hSession))
FORWARD(C_CancelFunction, (CK_SESSION_HANDLE hSession), (hSession))

/* Slot events */
FORWARD(C_WaitForSlotEvent, (CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pRserved), (flags, pSlot, pRserved))

/* ---- The shim's function list: one entry per line of pkcs11f.h, in its order ---- */

static CK_FUNCTION_LIST shim_list = {
  .version = { CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR },
#define CK_PKCS11_FUNCTION_INFO(name) .name = shim_##name,
#include "pkcs11f.h"
#undef CK_PKCS11_FUNCTION_INFO
};

/* The one exported entry point. */
CK_DEFINE_FUNCTION(CK_RV, C_GetFunctionList)(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
  return shim_C_GetFunctionList(ppFunctionList);
}
