using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Relay.Data.Migrations
{
    /// <inheritdoc />
    public partial class DeliveryKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_messages_sender_account_id_idempotency_key",
                table: "messages");

            migrationBuilder.AddColumn<byte[]>(
                name: "delivery_key_hash",
                table: "accounts",
                type: "bytea",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "delivery_key_required",
                table: "accounts",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateIndex(
                name: "ix_messages_sender_account_id_idempotency_key",
                table: "messages",
                columns: new[] { "sender_account_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL")
                .Annotation("Npgsql:NullsDistinct", false);

            migrationBuilder.AddCheckConstraint(
                name: "ck_accounts_delivery_key_hash_length",
                table: "accounts",
                sql: "octet_length(delivery_key_hash) = 32");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_messages_sender_account_id_idempotency_key",
                table: "messages");

            migrationBuilder.DropCheckConstraint(
                name: "ck_accounts_delivery_key_hash_length",
                table: "accounts");

            migrationBuilder.DropColumn(
                name: "delivery_key_hash",
                table: "accounts");

            migrationBuilder.DropColumn(
                name: "delivery_key_required",
                table: "accounts");

            migrationBuilder.CreateIndex(
                name: "ix_messages_sender_account_id_idempotency_key",
                table: "messages",
                columns: new[] { "sender_account_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL");
        }
    }
}
