-- CreateEnum
CREATE TYPE "AttendanceStatus" AS ENUM ('PRESENT', 'ABSENT', 'LATE', 'EXCUSED');

-- CreateTable
CREATE TABLE "attendance_records" (
    "id" UUID NOT NULL,
    "course_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "date" DATE NOT NULL,
    "status" "AttendanceStatus" NOT NULL,
    "marked_by_id" UUID NOT NULL,
    "marked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "attendance_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "course_replicas" (
    "course_id" UUID NOT NULL,
    "teacher_id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "last_sequence" BIGINT NOT NULL,

    CONSTRAINT "course_replicas_pkey" PRIMARY KEY ("course_id")
);

-- CreateTable
CREATE TABLE "enrollment_replicas" (
    "course_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "enrolled" BOOLEAN NOT NULL,
    "last_sequence" BIGINT NOT NULL,

    CONSTRAINT "enrollment_replicas_pkey" PRIMARY KEY ("course_id","student_id")
);

-- CreateTable
CREATE TABLE "inbox_events" (
    "event_id" UUID NOT NULL,
    "sequence" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbox_events_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "replication_cursors" (
    "source" TEXT NOT NULL,
    "last_sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "replication_cursors_pkey" PRIMARY KEY ("source")
);

-- CreateIndex
CREATE INDEX "attendance_records_student_id_course_id_idx" ON "attendance_records"("student_id", "course_id");

-- CreateIndex
CREATE UNIQUE INDEX "attendance_records_course_id_student_id_date_key" ON "attendance_records"("course_id", "student_id", "date");

-- CreateIndex
CREATE INDEX "course_replicas_teacher_id_idx" ON "course_replicas"("teacher_id");

-- CreateIndex
CREATE INDEX "enrollment_replicas_student_id_idx" ON "enrollment_replicas"("student_id");
