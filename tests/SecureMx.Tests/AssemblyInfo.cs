// The main assembly is Linux-only (fsync of directories, OpenSSL cipher policies).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
