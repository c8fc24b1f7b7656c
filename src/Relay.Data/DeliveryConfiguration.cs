using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Relay.Data;

internal sealed class DeliveryConfiguration : IEntityTypeConfiguration<Delivery>
{
    public void Configure(EntityTypeBuilder<Delivery> builder)
    {
        builder.ToTable(t => t.HasCheckConstraint(
            "ck_deliveries_status", "status IN ('retrying', 'sent', 'delivered', 'failed')"));

        builder.HasKey(d => d.Id);
        builder.Property(d => d.Status)
            .HasMaxLength(16)
            .HasConversion(s => s.ToText(), s => DeliveryStatuses.Parse(s));
        builder.Property(d => d.Reason).HasMaxLength(Delivery.ReasonMaxLength);

        builder.HasOne<Device>()
            .WithMany()
            .HasForeignKey(d => d.DeviceId)
            .OnDelete(DeleteBehavior.Cascade);

        builder.HasIndex(d => d.MessageId);
        builder.HasIndex(d => d.DeviceId);

        builder.Property(d => d.InInbox).HasDefaultValue(true).HasSentinel(true);

        // A device's inbox, oldest first (message ids are time-ordered UUIDv7s).
        builder.HasIndex(d => new { d.DeviceId, d.MessageId })
            .HasDatabaseName("ix_deliveries_inbox")
            .HasFilter("in_inbox AND status IN ('retrying', 'sent')");

        // Pruning: the per-device ciphertexts still kept, without a scan of every delivery.
        builder.HasIndex(d => d.MessageId, "OwnCiphertext")
            .HasDatabaseName("ix_deliveries_own_ciphertext")
            .HasFilter("ciphertext IS NOT NULL");

        // The dispatcher's claim: due deliveries, oldest first.
        builder.HasIndex(d => d.NextAttemptAt)
            .HasDatabaseName("ix_deliveries_due")
            .HasFilter("status = 'retrying'");
    }
}
