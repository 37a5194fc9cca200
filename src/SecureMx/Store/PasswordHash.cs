using System.Security.Cryptography;
using System.Text;
using Isopoh.Cryptography.Argon2;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace SecureMx.Store;

/// <summary>The outcome of checking a password against a stored hash.</summary>
public enum PasswordCheck { Wrong, Correct, CorrectButOutdated }

/// <summary>
/// Mailbox password hashes: Argon2id (RFC 9106) in the PHC string form
/// <c>$argon2id$v=19$m=19456,t=2,p=1$salt$hash</c>, with OWASP's recommended minimum parameters
/// (19 MiB, two passes, one lane). Dovecot verifies the same string with its <c>ARGON2ID</c> scheme
/// (libsodium), so IMAP/POP3 logins check the very hash submission and the dashboard check: one
/// password everywhere (docs/ARCHITECTURE.md, "Reading mail").
/// Hashes of the earlier formats — ASP.NET Identity's PBKDF2-HMAC-SHA512 and the first release's
/// PBKDF2-HMAC-SHA256 — and Argon2id hashes with weaker parameters still verify and are reported as
/// outdated, so a successful login stores a current one; Dovecot cannot read the old formats, so such
/// an account reads mail only after one submission or dashboard login (or `mailbox passwd`).
/// </summary>
public static class PasswordHash
{
    public const int MemoryKiB = 19_456;
    public const int Passes = 2;
    public const int Lanes = 1;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>The prefix of a current hash; the store's dovecot_accounts view shows only those to Dovecot.</summary>
    public const string Argon2idPrefix = "$argon2id$";

    public static string Create(string password)
    {
        var config = new Argon2Config
        {
            Type = Argon2Type.HybridAddressing, // the "id" variant
            Version = Argon2Version.Nineteen,
            MemoryCost = MemoryKiB,
            TimeCost = Passes,
            Lanes = Lanes,
            Threads = Lanes,
            Password = Encoding.UTF8.GetBytes(password),
            Salt = RandomNumberGenerator.GetBytes(SaltBytes),
            HashLength = HashBytes,
        };
        return Argon2.Hash(config);
    }

    public static PasswordCheck Check(string password, string stored)
    {
        if (stored.StartsWith(Argon2idPrefix, StringComparison.Ordinal)) return CheckArgon2id(password, stored);
        if (stored.StartsWith(Pbkdf2Sha256Prefix, StringComparison.Ordinal))
        {
            return VerifyPbkdf2Sha256(password, stored) ? PasswordCheck.CorrectButOutdated : PasswordCheck.Wrong;
        }
        return VerifyIdentityV3(password, stored) ? PasswordCheck.CorrectButOutdated : PasswordCheck.Wrong;
    }

    public static bool Verify(string password, string stored) => Check(password, stored) != PasswordCheck.Wrong;

    /// <summary>Whether Dovecot can verify this stored hash (the account can log in over IMAP and POP3).</summary>
    public static bool IsReadableByDovecot(string stored) => stored.StartsWith(Argon2idPrefix, StringComparison.Ordinal);

    private static PasswordCheck CheckArgon2id(string password, string stored)
    {
        var config = new Argon2Config { Password = Encoding.UTF8.GetBytes(password) };
        // A hostile or damaged string must not cost more than a current hash does: refuse parameters
        // beyond ours before running them (and a string that does not parse at all).
        if (!TryDecode(config, stored, out var expected)) return PasswordCheck.Wrong;
        using (expected)
        {
            if (config.Type != Argon2Type.HybridAddressing || config.MemoryCost > MemoryKiB * 4 || config.TimeCost > Passes * 4
                || config.Lanes > 8 || config.HashLength is < 16 or > 64)
            {
                return PasswordCheck.Wrong;
            }
            config.Threads = 1; // one core per login; AccountAuthenticator bounds how many run at once
            using var argon2 = new Argon2(config);
            using var actual = argon2.Hash();
            if (!CryptographicOperations.FixedTimeEquals(actual.Buffer, expected.Buffer)) return PasswordCheck.Wrong;
        }
        return config.MemoryCost < MemoryKiB || config.TimeCost < Passes ? PasswordCheck.CorrectButOutdated : PasswordCheck.Correct;
    }

    private static bool TryDecode(Argon2Config config, string stored, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Isopoh.Cryptography.SecureArray.SecureArray<byte>? hash)
    {
        try
        {
            return config.DecodeString(stored, out hash) && hash is not null;
        }
        catch (ArgumentException)
        {
            hash = null; // the library rejects some malformed strings by throwing rather than returning false
            return false;
        }
    }

    // Releases before Argon2id: ASP.NET Core Identity's V3 format (PBKDF2-HMAC-SHA512, base64).
    private sealed class Account;
    private static readonly Account Nobody = new();
    private static readonly PasswordHasher<Account> IdentityHasher =
        new(Options.Create(new PasswordHasherOptions { CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3 }));

    private static bool VerifyIdentityV3(string password, string stored)
    {
        try
        {
            return IdentityHasher.VerifyHashedPassword(Nobody, stored, password) != PasswordVerificationResult.Failed;
        }
        catch (FormatException)
        {
            return false; // not a hash at all: nothing can match it
        }
    }

    // The first releases stored PBKDF2-HMAC-SHA256 as pbkdf2-sha256$iterations$salt$hash (base64).
    private const string Pbkdf2Sha256Prefix = "pbkdf2-sha256$";

    private static bool VerifyPbkdf2Sha256(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || !int.TryParse(parts[1], out var iterations) || iterations is < 1 or > 10_000_000) return false;
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
