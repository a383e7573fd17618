mod nhn;
mod solapi;
mod twilio;
