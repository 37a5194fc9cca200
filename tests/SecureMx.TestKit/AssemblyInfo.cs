// Like the product and both test projects: Linux only (key files get Unix modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
