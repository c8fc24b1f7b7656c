using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Relay.Apns;

namespace Relay.Data;

internal sealed class DeviceConfiguration : IEntityTypeConfiguration<Device>
{
    public void Configure(EntityTypeBuilder<Device> builder)
    {
        builder.ToTable(t =>
        {
            // The API lower-cases tokens; the constraint keeps (token, topic) uniqueness case-proof.
            t.HasCheckConstraint(
                "ck_devices_token_hex",
                "token ~ '^[0-9a-f]+$' AND length(token) % 2 = 0 AND length(token) BETWEEN 32 AND 512");
            t.HasCheckConstraint("ck_devices_environment", "environment IN ('production', 'sandbox')");
            t.HasCheckConstraint(
                "ck_devices_public_key",
                "(public_key IS NULL AND public_key_signature IS NULL) "
                + "OR (length(public_key) = 32 AND length(public_key_signature) = 64)");
        });

        builder.HasKey(d => d.Id);

        builder.Property(d => d.Token).HasMaxLength(Device.TokenMaxLength);
        builder.Property(d => d.Topic).HasMaxLength(Device.TopicMaxLength);
        builder.Property(d => d.Environment)
            .HasMaxLength(16)
            .HasConversion(
                e => e.ToText(),
                s => ApnsEnvironments.Parse(s));
        builder.Property(d => d.InvalidReason).HasMaxLength(Device.InvalidReasonMaxLength);

        builder.HasIndex(d => new { d.Token, d.Topic }).IsUnique();

        // Listing an account's devices (invalidated ones included) and the cascade from accounts.
        builder.HasIndex(d => d.AccountId);

        // Sending: the active devices of a message's recipients.
        builder.HasIndex(d => d.AccountId, "ActiveByAccount")
            .HasDatabaseName("ix_devices_account_id_active")
            .HasFilter("invalidated_at IS NULL");
    }
}
